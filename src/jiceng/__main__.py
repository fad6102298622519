"""The `jiceng` console command: Django's management commands under our settings."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiceng.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv)
    argv[0] = "jiceng"
    # Management commands are named with dashes on the command line (import-roster) and
    # with underscores as modules (import_roster).
    if len(argv) > 1 and "-" in argv[1] and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
