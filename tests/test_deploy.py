"""Production settings pass Django's deployment checks with no warnings, and refuse to
start without a secret key."""

import os
import subprocess
import sys


def run_jiceng(*args, **env):
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("JICENG_") and k != "DJANGO_SETTINGS_MODULE"
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "jiceng", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )


GATEWAYS = {
    "JICENG_SMS_SENDER": "jiceng.core.senders.WebhookSender",
    "JICENG_SMS_WEBHOOK_URL": "https://sms.example.gov.cn/send",
    "JICENG_NOTIFY_SENDER": "jiceng.core.senders.WebhookSender",
    "JICENG_NOTIFY_WEBHOOK_URL": "https://sms.example.gov.cn/notify",
}


def test_check_deploy_is_clean(tmp_path):
    result = run_jiceng(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        JICENG_SECRET_KEY="k" * 10 + "".join(chr(65 + i % 26) + str(i) for i in range(40)),
        JICENG_ALLOWED_HOSTS="jiceng.example.gov.cn",
        JICENG_VAR_DIR=str(tmp_path),
        **GATEWAYS,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_with_the_log_senders(tmp_path):
    """They print one-time codes into the server's log."""
    result = run_jiceng(
        "check",
        "--deploy",
        JICENG_SECRET_KEY="k" * 10 + "".join(chr(65 + i % 26) + str(i) for i in range(40)),
        JICENG_ALLOWED_HOSTS="jiceng.example.gov.cn",
        JICENG_VAR_DIR=str(tmp_path),
    )
    assert result.returncode != 0
    assert "jiceng.E001" in result.stdout + result.stderr


def test_production_needs_a_secret_key(tmp_path):
    result = run_jiceng("check", JICENG_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "JICENG_SECRET_KEY" in result.stderr


def test_a_sender_that_does_not_exist_fails_the_check(tmp_path):
    """Rather than the worker's first send: an old setting naming a moved sender."""
    result = run_jiceng(
        "check",
        JICENG_DEBUG="1",
        JICENG_VAR_DIR=str(tmp_path),
        JICENG_SMS_SENDER="jiceng.residents.sms.WebhookSender",
    )
    assert result.returncode != 0
    assert "jiceng.E003" in result.stdout + result.stderr
