"""The `jiceng` console command: Django's management commands under our settings."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiceng.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from jiceng.envfile import load_env_file

    # What `jiceng demo` left in var/jiceng.env (its debug mode and secret key), so that
    # the commands run after it work from the same shell; the environment wins.
    load_env_file()
    argv = list(sys.argv)
    argv[0] = "jiceng"
    # Management commands are named with dashes on the command line (import-roster) and
    # with underscores as modules (import_roster).
    if len(argv) > 1 and "-" in argv[1] and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    try:
        # Read the settings first: Django would otherwise go on without them for its own
        # commands (makemigrations) and fail later with an unrelated error.
        settings.INSTALLED_APPS  # noqa: B018
        execute_from_command_line(argv)
    except ImproperlyConfigured as error:
        # A missing or wrong setting is the operator's to fix, not a crash: one line,
        # whichever command met it first (check, makemigrations, migrate …).
        sys.exit(f'jiceng: {error} (see the README, "Configuration")')


if __name__ == "__main__":
    main()
