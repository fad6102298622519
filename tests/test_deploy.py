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
        timeout=300,
    )


MASTER_KEY = "ab" * 32
GATEWAYS = {
    "JICENG_SMS_SENDER": "jiceng.core.senders.WebhookSender",
    "JICENG_SMS_WEBHOOK_URL": "https://sms.example.gov.cn/send",
    "JICENG_NOTIFY_SENDER": "jiceng.core.senders.WebhookSender",
    "JICENG_NOTIFY_WEBHOOK_URL": "https://sms.example.gov.cn/notify",
    "JICENG_PUBLIC_URL": "https://jiceng.example.gov.cn",
}


def test_check_deploy_is_clean(tmp_path):
    result = run_jiceng(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        JICENG_SECRET_KEY="k" * 10 + "".join(chr(65 + i % 26) + str(i) for i in range(40)),
        JICENG_MASTER_KEY=MASTER_KEY,
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
        JICENG_MASTER_KEY=MASTER_KEY,
        JICENG_ALLOWED_HOSTS="jiceng.example.gov.cn",
        JICENG_VAR_DIR=str(tmp_path),
    )
    assert result.returncode != 0
    assert "jiceng.E001" in result.stdout + result.stderr


def test_check_deploy_fails_without_the_public_address(tmp_path):
    """The tracking links texted to residents would be bare paths."""
    gateways = {k: v for k, v in GATEWAYS.items() if k != "JICENG_PUBLIC_URL"}
    result = run_jiceng(
        "check",
        "--deploy",
        JICENG_SECRET_KEY="k" * 10 + "".join(chr(65 + i % 26) + str(i) for i in range(40)),
        JICENG_MASTER_KEY=MASTER_KEY,
        JICENG_ALLOWED_HOSTS="jiceng.example.gov.cn",
        JICENG_VAR_DIR=str(tmp_path),
        **gateways,
    )
    assert result.returncode != 0
    assert "jiceng.E004" in result.stdout + result.stderr


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


def test_production_refuses_to_start_without_a_master_key(tmp_path):
    result = run_jiceng(
        "check",
        JICENG_SECRET_KEY="k" * 50,
        JICENG_ALLOWED_HOSTS="jiceng.example.gov.cn",
        JICENG_VAR_DIR=str(tmp_path),
    )
    assert result.returncode != 0
    assert "JICENG_MASTER_KEY must be set" in result.stderr


def test_a_master_key_that_is_not_the_databases_fails_loudly(tmp_path):
    """The key check value recorded at the first start refuses another key after."""
    common = {
        "JICENG_SECRET_KEY": "k" * 50,
        "JICENG_ALLOWED_HOSTS": "jiceng.example.gov.cn",
        "JICENG_VAR_DIR": str(tmp_path),
    }
    assert run_jiceng("migrate", JICENG_MASTER_KEY=MASTER_KEY, **common).returncode == 0
    assert run_jiceng("check", JICENG_MASTER_KEY=MASTER_KEY, **common).returncode == 0
    result = run_jiceng("check", JICENG_MASTER_KEY="cd" * 32, **common)
    assert result.returncode != 0
    assert "not the key this database" in result.stdout + result.stderr
