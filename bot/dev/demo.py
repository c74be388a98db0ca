"""`python -m bot demo`: the whole product in one process, offline.

Server, fake WeChat API, scheduler and sender, on SQLite and the in-process store, with the
campaign's clock running from a chosen day (default: its first day) so that 今天, counted quiz
rounds, deadlines and scheduled pushes behave as they will in June.
"""

from __future__ import annotations

import logging
import sys
import threading

from werkzeug.serving import make_server

from bot.config import Config, ConfigError
from bot.runtime import Bot

log = logging.getLogger(__name__)

DEMO_STAFF = "admin"


def demo_config(config: Config, host: str, port: int, today: str | None) -> Config:
    if config.server.mode == "production":
        raise ConfigError("the demo is not for production: it runs a fake WeChat API (use `serve`)")
    from bot.runtime import demo_start

    day = today or config.quiz.campaign_start
    try:
        demo_start(day)
    except ValueError:
        raise ConfigError(f"--today must be a date like 2021-06-01 (or a moment like 2021-06-01T19:29), "
                          f"got {day!r}") from None
    public = f"http://{host}:{port}"
    return config.replace(server={"mode": "demo", "today": day, "public_url": public}, redis={"url": ""},
                          wechat={"api_base_url": f"{public}/fake-wechat/cgi-bin/"})


def ensure_demo_staff(bot: Bot) -> str:
    """An admin account for the console, with a fresh password printed at each start."""
    from bot.services import staff

    with bot.db.transaction() as session:
        user = staff.find(session, DEMO_STAFF)
        if user is None:
            _, password = staff.add(session, DEMO_STAFF, "admin", actor="demo", now=bot.clock.now())
        else:
            if user.disabled:
                staff.set_disabled(session, user, False, actor="demo", now=bot.clock.now())
            password = staff.set_password(session, user, actor="demo", now=bot.clock.now())
        # The demo prints this password for whoever runs it; no real account is handed out here.
        staff.find(session, DEMO_STAFF).must_change_password = False
    return password


def finish_mass_jobs(fake: object, stop: threading.Event, every: float = 5.0) -> None:
    """As WeChat does some time after a mass send: report each job's end (MASSSENDJOBFINISH)."""
    while not stop.wait(every):
        try:
            fake.finish_mass_jobs()  # type: ignore[attr-defined]
        except Exception:
            log.exception("the fake's MASSSENDJOBFINISH push failed")


def run_demo(config: Config, host: str, port: int, today: str | None) -> int:
    from bot import create_app
    from bot.background.scheduler import Workers
    from bot.cli.pushes import stop_on_signals
    from bot.dev.simulator import post_to_webhook
    from bot.infra.migrate import upgrade
    from bot.wechat.fake import FakeWeChat, mount

    config = demo_config(config, host, port, today)
    upgrade(config.database.url)
    app = create_app(config)
    bot = app.extensions["bot"]
    fake = FakeWeChat(config.wechat.app_id, config.wechat.app_secret, clock=bot.clock,
                      account_type=config.wechat.account_type)
    mount(app, fake)
    fake.event_sink = lambda xml: post_to_webhook(app, xml)  # MASSSENDJOBFINISH reaches the webhook
    password = ensure_demo_staff(bot)
    server = make_server(host, port, app, threaded=True)
    workers = Workers(bot).start()  # the scheduler and a sender, inside this process
    public = config.server.public_url
    lines = ["", "安全生产月公众号 demo is running (Ctrl-C to stop)",
             f"  simulator : {public}/simulator/",
             f"  console   : {public}/console/   staff: {DEMO_STAFF} / {password}",
             f"  webhook   : {public}/wechat   (token from config, AES {'on' if config.aes_enabled else 'off'})",
             f"  campaign day: {config.server.today} (the clock runs forward"
             f"{'' if 'T' in config.server.today else ' from 09:00'})",
             f"  data      : {config.database.url} (kept between runs)", ""]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    # Ctrl-C and SIGTERM both stop it. Handlers installed explicitly: a process started from a
    # non-interactive shell in the background inherits SIGINT as ignored.
    stop = stop_on_signals()
    thread = threading.Thread(target=server.serve_forever, name="demo-http", daemon=True)
    thread.start()
    threading.Thread(target=finish_mass_jobs, args=(fake, stop), name="demo-mass-jobs", daemon=True).start()
    try:
        while thread.is_alive() and not stop.wait(0.5):
            pass
        log.info("stopping the demo")
    finally:
        server.shutdown()
        workers.stop(timeout=10)
        bot.close()
    return 0
