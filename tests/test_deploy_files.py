"""deploy/: the systemd units pass `systemd-analyze verify` and the nginx site passes `nginx -t`.

Both run on copies with the install paths substituted (this checkout for /opt/safety-month-bot, a
temporary directory for /etc), so what is checked is the shipped files, not a second copy of them.
CI installs systemd's tools and nginx when missing (.ci/run); without them these tests skip, or
fail when BOT_TEST_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.services import unavailable

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def _tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if not path:
        unavailable(name, FileNotFoundError(name))
    return path


def installed_unit(unit: Path, into: Path, env_file: Path) -> Path:
    """The unit as it would be installed on this machine: code here, environment file in `into`."""
    text = unit.read_text(encoding="utf-8").replace("/opt/safety-month-bot", str(ROOT))
    text = text.replace("/etc/safety-month-bot/bot.env", str(env_file))
    name = unit.name.replace("@.service", "@1.service")  # verify an instance of the template
    target = into / name
    target.write_text(text, encoding="utf-8")
    return target


def test_the_three_kinds_of_process_have_units() -> None:
    names = {unit.name for unit in UNITS}
    assert names == {"safety-month-bot-web.service", "safety-month-bot-scheduler.service",
                     "safety-month-bot-sender@.service"}
    for unit in UNITS:
        text = unit.read_text(encoding="utf-8")
        assert "User=safetybot" in text and "Restart=on-failure" in text and "KillSignal=SIGTERM" in text
        assert "EnvironmentFile=/etc/safety-month-bot/bot.env" in text


def test_systemd_analyze_verify_passes(tmp_path: Path) -> None:
    tool = _tool("systemd-analyze")
    env_file = tmp_path / "bot.env"
    env_file.write_text((DEPLOY / "bot.env.example").read_text(encoding="utf-8"), encoding="utf-8")
    units = [str(installed_unit(unit, tmp_path, env_file)) for unit in UNITS]
    done = subprocess.run([tool, "verify", *units], capture_output=True, text=True, timeout=60)
    # verify exits 0 on some problems (an unknown setting is "ignored"): any line it prints is one.
    problems = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 0 and problems == [], problems


def test_systemd_analyze_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    """The check above can fail: a unit whose program does not exist is refused."""
    tool = _tool("systemd-analyze")
    env_file = tmp_path / "bot.env"
    env_file.write_text("", encoding="utf-8")
    unit = installed_unit(DEPLOY / "systemd" / "safety-month-bot-web.service", tmp_path, env_file)
    unit.write_text(unit.read_text(encoding="utf-8").replace(".venv/bin/python", ".venv/bin/no-such-python"))
    done = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0


def self_signed_pair(into: Path) -> tuple[Path, Path]:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    start = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start + dt.timedelta(days=36500))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            # Its own trust anchor: clients verify the site with this file as their CA bundle.
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = into / "site.crt", into / "site.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def nginx_site(into: Path, http_port: int = 80, https_port: int = 443, upstream: str = "127.0.0.1:8000") -> Path:
    """deploy/nginx as installed into `into`: a main nginx.conf that includes the shipped site."""
    cert, key = self_signed_pair(into)
    proxy = into / "safety-month-bot-proxy.conf"
    shutil.copy(DEPLOY / "nginx" / "safety-month-bot-proxy.conf", proxy)
    site = (DEPLOY / "nginx" / "safety-month-bot.conf").read_text(encoding="utf-8")
    for placeholder, real in (("/etc/ssl/certs/safety-month-bot.crt", str(cert)),
                              ("/etc/ssl/private/safety-month-bot.key", str(key)),
                              ("/etc/nginx/safety-month-bot-proxy.conf", str(proxy)),
                              ("/var/log/nginx/", f"{into}/"),
                              ("listen 80;", f"listen {http_port};"), ("listen [::]:80;", f"listen [::]:{http_port};"),
                              ("listen 443 ssl http2;", f"listen {https_port} ssl http2;"),
                              ("listen [::]:443 ssl http2;", f"listen [::]:{https_port} ssl http2;"),
                              ("server 127.0.0.1:8000;", f"server {upstream};")):
        assert placeholder in site, placeholder
        site = site.replace(placeholder, real)
    (into / "site.conf").write_text(site, encoding="utf-8")
    main = into / "nginx.conf"
    main.write_text(f"""
pid {into}/nginx.pid;
error_log {into}/error.log;
events {{ }}
http {{
    access_log {into}/access.log;
    client_body_temp_path {into}/body;
    proxy_temp_path {into}/proxy;
    fastcgi_temp_path {into}/fastcgi;
    uwsgi_temp_path {into}/uwsgi;
    scgi_temp_path {into}/scgi;
    include {into}/site.conf;
}}
""", encoding="utf-8")
    return main


def test_nginx_accepts_the_site(tmp_path: Path) -> None:
    tool = _tool("nginx")
    main = nginx_site(tmp_path)
    done = subprocess.run([tool, "-t", "-c", str(main), "-p", str(tmp_path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "syntax is ok" in done.stderr and "test is successful" in done.stderr


def test_nginx_site_limits_bodies_like_the_app() -> None:
    from bot.config import ServerConfig

    site = (DEPLOY / "nginx" / "safety-month-bot.conf").read_text(encoding="utf-8")
    assert ServerConfig().max_body_bytes == 64 * 1024
    assert "client_max_body_size 64k;" in site
    metrics = site.split("location = /metrics", 1)[1].split("}", 1)[0]
    assert "deny all;" in metrics


def test_the_environment_template_names_every_config_key() -> None:
    """Every key the code accepts is in the template, with a comment above it, and nothing else is."""
    import dataclasses
    import re

    from bot.config import SECTIONS

    wanted = {f"BOT_{section.upper()}_{field.name.upper()}"
              for section, cls in SECTIONS.items() for field in dataclasses.fields(cls)}
    lines = (DEPLOY / "bot.env.example").read_text(encoding="utf-8").splitlines()
    named = {}
    for number, line in enumerate(lines):
        found = re.match(r"#?(BOT_[A-Z0-9_]+)=", line)
        if found:
            named[found.group(1)] = number
    assert set(named) - wanted == set(), "template names keys the code does not accept"
    assert wanted - set(named) == set(), "config keys missing from deploy/bot.env.example"
    for name, number in named.items():
        while re.match(r"#?BOT_", lines[number - 1]):  # variables grouped under one comment
            number -= 1
        above = lines[number - 1]
        assert above.startswith("# ") and not above.startswith("# ---"), f"{name} has no comment of its own"


def test_the_environment_template_loads_as_a_production_config(tmp_path: Path) -> None:
    """Filled in (secrets replaced), the template is a valid production configuration."""
    import secrets

    from bot.config import load_config

    environ = {}
    for line in (DEPLOY / "bot.env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            if "CHANGE-ME" in value:
                value = "a" * 43 if key == "BOT_WECHAT_ENCODING_AES_KEY" else secrets.token_urlsafe(48)
            if key == "BOT_WECHAT_APP_ID":
                value = "wx1234567890abcdef"
            environ[key] = value
    config = load_config(ROOT / "config.toml", environ=environ)
    assert config.server.mode == "production" and config.server.proxy_hops == 1
    assert config.wechat.message_mode == "safe"
