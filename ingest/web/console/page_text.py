"""The words of the patrol console, in Simplified Chinese (default) and English."""

from __future__ import annotations

from typing import Protocol

from campuswatch.i18n import DEVICE_WORDS, Catalogue
from ingest.web.console.duty_text import DUTY_WORDS

WORDS = Catalogue(
    {
        **DEVICE_WORDS,
        **DUTY_WORDS,
        "html_lang": ("zh-CN", "en"),
        "app": ("校园值班台", "Campus watch"),
        # Navigation and common words
        "nav.board": ("总览", "Board"),
        "nav.tonight": ("今晚门锁", "Doors tonight"),
        "nav.people": ("人员", "People"),
        "nav.logout": ("退出", "Log out"),
        "nav.theme": ("切换明暗", "Light / dark"),
        "all_buildings": ("全部楼栋", "All buildings"),
        "no_building": ("未分楼栋", "No building"),
        "no_room": ("", ""),
        "disconnected": ("连接已断开，正在重连…", "Disconnected, reconnecting…"),
        "sound.enable": (
            "点此开启告警提示音（浏览器需要点一下才能发声）",
            "Tap to turn on the alarm sound (browsers need one tap before they play sound)",
        ),
        "back": ("返回", "Back"),
        # Login
        "login.title": ("登录", "Log in"),
        "login.login": ("账号", "Login"),
        "login.password": ("密码", "Password"),
        "login.submit": ("登录", "Log in"),
        "login.wrong": ("账号或密码错误。", "The login or the password is wrong."),
        "login.wait": (
            "失败次数过多，请 {seconds} 秒后再试。",
            "Too many failed attempts: try again in {seconds} s.",
        ),
        "login.locked": (
            "失败次数过多，此账号已锁定 {minutes} 分钟。",
            "Too many failed attempts: this login is locked for {minutes} min.",
        ),
        "login.missing": ("请输入账号和密码。", "Enter your login and password."),
        # Forms and errors
        "csrf.bad": (
            "页面已过期或来源不明，请刷新后重试。",
            "This form has expired or did not come from this site: reload and try again.",
        ),
        "forbidden": ("您的账号无权这样做。", "Your account may not do this."),
        "forbidden.title": ("无权操作", "Not allowed"),
        "not_found": ("找不到这条告警。", "No such alert."),
        "not_found.title": ("找不到", "Not found"),
        # Board
        "alerts.title": ("待处理告警", "Active alerts"),
        "alerts.none": ("目前没有告警。", "No active alerts."),
        "alerts.since": ("开始于 {time}", "since {time}"),
        "alerts.acked_by": ("{name} 已确认", "acknowledged by {name}"),
        "gateways.title": ("网关", "Gateways"),
        "devices.title": ("设备", "Devices"),
        "devices.none": ("还没有设备上报。", "No device has reported yet."),
        "tonight.title": ("今晚未关或未锁的门", "Doors open or unlocked tonight"),
        "tonight.none": ("所有门都已关闭上锁。", "Every door is closed and locked."),
        "tonight.fine": ("另有 {n} 扇门已关好上锁。", "{n} other door(s) closed and locked."),
        "tonight.no_doors": ("还没有门的数据。", "No door has reported yet."),
        "age.never": ("从未上报", "never reported"),
        "age.now": ("刚刚", "just now"),
        "age.s": ("{n} 秒前", "{n} s ago"),
        "age.min": ("{n} 分钟前", "{n} min ago"),
        "age.h": ("{n} 小时前", "{n} h ago"),
        "age.d": ("{n} 天前", "{n} d ago"),
        "silent": ("无数据", "silent"),
        # Device states
        "door.open": ("开着", "open"),
        "door.closed": ("已关", "closed"),
        "door.locked": ("已锁", "locked"),
        "door.unlocked": ("未锁", "unlocked"),
        "smoke.alarm": ("烟雾报警", "SMOKE"),
        "smoke.ok": ("正常", "normal"),
        "fault": ("故障", "fault"),
        "battery_low": ("电量低", "battery low"),
        "tamper": ("被拆动", "tampered"),
        "leak.alarm": ("漏水", "WATER"),
        "leak.ok": ("无漏水", "dry"),
        "panic.alarm": ("紧急按钮已按下", "PANIC"),
        "panic.ok": ("正常", "normal"),
        "motion.yes": ("有人活动", "motion"),
        "motion.no": ("无人", "no motion"),
        "camera.offline": ("离线", "offline"),
        "camera.persons": ("{n} 人", "{n} person(s)"),
        "camera.tamper": ("被遮挡或移动", "covered or moved"),
        "camera.motion": ("有动静", "motion"),
        "camera.quiet": ("无动静", "quiet"),
        "temp.out": ("应在 {limits}", "should be {limits}"),
        "gateway.online": ("在线", "online"),
        "gateway.offline": ("离线", "offline"),
        "gateway.stopped": ("已停止", "stopped"),
        "gateway.unknown": ("状态未知", "unknown"),
        # Alert page
        "alert.title": ("告警 #{id}", "Alert #{id}"),
        "alert.place": ("位置", "Place"),
        "alert.since": ("开始", "Since"),
        "alert.value": ("数值", "Value"),
        "alert.severity": ("级别", "Severity"),
        "alert.state": ("状态", "State"),
        "alert.tags": ("标签", "Tags"),
        "alert.history": ("处理记录", "History"),
        "alert.snapshot": ("快照", "Snapshot"),
        "alert.note": ("备注（如：已到现场查看）", "Note (e.g. on my way, checked on site)"),
        "alert.note.door": ("备注（如：已到现场，门已锁好）", "Note (e.g. on site, door locked)"),
        "alert.note.temperature": (
            "备注（如：已检查冰柜，门已关好）",
            "Note (e.g. checked the fridge, door closed)",
        ),
        "alert.note.smoke": ("备注（如：已到现场，是油烟）", "Note (e.g. on site: cooking fumes)"),
        "alert.note.leak": ("备注（如：已关水阀）", "Note (e.g. valve closed)"),
        "alert.note.camera": ("备注（如：已到门口查看）", "Note (e.g. checked the gate)"),
        "alert.ack": ("确认收到，我来处理", "Acknowledge: I am on it"),
        "alert.acked": ("已确认收到，谢谢。", "Acknowledged, thank you."),
        "nav.history": ("告警记录", "Alert log"),
        "nav.reports": ("报表", "Reports"),
        "reports.title": ("报表", "Reports"),
        "reports.csv": ("下载表格（CSV，Excel 可打开）", "Download as CSV (opens in Excel)"),
        "device.unknown": ("找不到这个设备。", "No such device."),
        "device.now": ("现在", "Now"),
        "device.seen": ("最近数据", "Last heard"),
        "device.every": ("上报间隔", "Reports"),
        "device.interval": ("每 {n} 秒", "every {n} s"),
        "device.chart_day": ("最近 24 小时", "The last 24 hours"),
        "device.chart_week": ("最近 7 天", "The last 7 days"),
        "device.day": ("一天", "Day"),
        "device.week": ("一周", "Week"),
        "device.no_history": (
            "暂时读不到历史数据（数据库不可用）。",
            "The history cannot be read now.",
        ),
        "device.nothing_yet": ("这段时间还没有数据。", "No data in this time yet."),
        "device.alerts": ("这个设备的告警", "This device's alerts"),
        "device.no_alerts": ("没有告警。", "No alerts."),
        "alert.what": ("设备类型", "Device"),
        "alert.told": ("通知", "Told"),
        "alert.told_by_gateway": (
            "中心连不上时，网关 {gateway} 已于 {time} 直接通知值班人员",
            "gateway {gateway} told its own channels at {time} while cut off from the server",
        ),
        "summary.doors": ("{n} 处门未关好", "{n} door(s) open or unlocked"),
        "summary.alerts": ("{n} 条告警待处理", "{n} alert(s) waiting"),
        "summary.no_alerts": ("无待处理告警", "no alert waiting"),
        "summary.gateways_ok": ("网关全部在线", "every gateway online"),
        "summary.gateways_off": ("{n} 个网关离线", "{n} gateway(s) offline"),
        "duty.on": (
            "值班：{names}（{shift}，到 {until}）",
            "On duty: {names} ({shift}, until {until})",
        ),
        "duty.nobody": (
            "{shift}没有人值班：报警只发给备用渠道，请排班",
            "Nobody is on duty ({shift}): alarms go to the fallback only; fill the roster",
        ),
        "duty.no_shift": ("现在不在任何班次内", "No shift covers now"),
        "duty.empty_ahead": (
            "未来 14 天有 {n} 个班次没人值班",
            "{n} shift(s) in the next 14 days have nobody",
        ),
        "checkpoint.lock_now": ("现在就锁好", "Lock it now"),
        "checkpoint.alerts": ("这里的告警", "Alerts here"),
        "checkpoint.devices": ("这里的设备", "Devices here"),
        "checkpoint.no_devices": ("这里没有接入的设备。", "No device here."),
        "checkpoint.note": ("备注（如：门已锁好）", "Note (e.g. door locked)"),
        "checkpoint.visit": ("已到此处，记录巡查", "I am here: record the visit"),
        "checkpoint.recorded": ("已记录本次巡查。", "The visit is recorded."),
        "checkpoint.bad_link.title": ("巡查点链接无效", "Not a checkpoint link"),
        "checkpoint.bad_link": (
            "这个链接不是有效的巡查点链接（可能已更换，请找管理员重新打印二维码）。未记录任何内容。",
            "This is not a valid checkpoint link (it may have been replaced: ask for a new"
            " print). Nothing was recorded.",
        ),
        "checkpoint.unknown": ("没有这个巡查点。", "No such checkpoint."),
        "checkpoint.print": ("巡查点二维码", "Checkpoint codes"),
        "checkpoint.print_hint": (
            "用浏览器打印（A4），剪下贴在各巡查点；扫码会打开本系统的巡查页面。",
            "Print (A4), cut out and put up at each checkpoint; a scan opens its page here.",
        ),
        "shift.day": ("白班", "day shift"),
        "shift.night": ("夜班", "night shift"),
        "summary.attention": ("需要有人去看", "Needs a person"),
        "summary.more": ("另有 {n} 处，见下方", "{n} more below"),
        "history.today": ("今天的告警", "Today's alerts"),
        "history.night": ("昨晚和今天的告警", "Last night's and today's alerts"),
        "history.none": ("这段时间没有告警。", "No alerts in this time."),
        "history.acked": ("{name} 于 {time} 确认", "acknowledged by {name} at {time}"),
        "history.unacked": ("无人确认", "nobody acknowledged"),
        "history.resolved": ("{time} 恢复", "over at {time}"),
        "history.open": ("仍未恢复", "still on"),
        "conflict.resolved": (
            "此告警已经恢复，无需确认。",
            "This alert is over already: nothing to acknowledge.",
        ),
        "conflict.pending": ("此告警尚未触发，还不能确认。", "This alert has not fired yet."),
        "conflict.acknowledged": (
            "此告警已由 {name} 确认。",
            "{name} has acknowledged this alert already.",
        ),
        "alert.not_your_area": (
            "此告警不在您负责的区域，不能由您确认。",
            "This alert is outside your areas: you cannot acknowledge it.",
        ),
        "alert.viewer": (
            "您的账号只能查看，不能确认告警。",
            "Your account can only view alerts, not acknowledge them.",
        ),
        "state.pending": ("观察中", "pending"),
        "state.firing": ("告警中", "firing"),
        "state.acknowledged": ("已确认", "acknowledged"),
        "state.resolved": ("已恢复", "resolved"),
        "state.repeat": ("再次提醒", "reminded"),
        "state.escalated": ("已升级", "escalated"),
        "state.late": ("迟到告警", "late"),
        "state.edge": ("网关已直接通知", "told by the gateway"),
        # Ack links
        "ack.title": ("确认告警", "Acknowledge an alert"),
        "ack.name": ("您的姓名", "Your name"),
        "ack.name_needed": ("请填写您的姓名。", "Please enter your name."),
        "ack.typed": ("{name}（链接填写）", "{name} (typed on an ack link)"),
        "ack.bad_name": (
            "姓名为 1 至 64 个字符，不能含控制字符。",
            "A name has 1 to 64 characters without control characters.",
        ),
        "ack.forged": ("这个确认链接无效。", "This acknowledgement link is not valid."),
        "ack.expired": (
            "这个确认链接已过期，请登录值班台确认。",
            "This link has expired: log in to the console to acknowledge.",
        ),
        "ack.other_alert": ("这个链接属于另一条告警。", "This link belongs to another alert."),
        "ack.used": ("这个确认链接已经用过了。", "This link has already been used."),
        "ack.used_by": (
            "这个确认链接已经用过了：{name} 已于 {time} 确认。",
            "This link has already been used: {name} acknowledged at {time}.",
        ),
        "ack.over": (
            "这条告警已经恢复（{time}），无需确认。",
            "This alert is over already ({time}): nothing to acknowledge.",
        ),
        # People
        "people.title": ("人员与账号", "People and logins"),
        "people.add": ("添加人员", "Add a person"),
        "people.name": ("姓名", "Name"),
        "people.role": ("角色", "Role"),
        "people.password": ("密码（至少 8 位）", "Password (8 characters or more)"),
        "people.new_password": ("新密码", "New password"),
        "people.reset": ("重设密码", "Reset password"),
        "people.disable": ("停用", "Disable"),
        "people.enable": ("启用", "Enable"),
        "people.disabled": ("已停用", "disabled"),
        "people.saved": ("已保存。", "Saved."),
        "people.exists": (
            "登录名 {login} 已存在，未做任何更改。要修改此人，请在上方列表中操作。",
            "The login {login} exists already; nothing was changed. Change that person in"
            " the list above.",
        ),
        "people.change": ("修改姓名、角色或区域", "Change name, role or areas"),
        "people.areas": (
            "负责区域（楼栋编号，逗号分隔；空 = 全部）",
            "Areas (building ids, comma-separated; empty: all)",
        ),
        "people.areas_hint": ("如：canteen", "e.g. canteen"),
        "people.areas_of": ("负责：{areas}", "areas: {areas}"),
        "role.viewer": ("查看", "viewer"),
        "role.guard": ("值班", "guard"),
        "role.admin": ("管理员", "admin"),
    }
)


def say(key: str, lang: str, /, **values: object) -> str:
    """Console text ``key`` in ``lang`` with ``values`` filled in."""
    return WORDS.say(key, lang, **values)


def word(prefix: str, key: str | None, lang: str, fallback: str | None = None) -> str:
    """``prefix.key`` in words (see :meth:`Catalogue.word`)."""
    return WORDS.word(prefix, key, lang, fallback)


class Conflict(Protocol):
    """An alert that cannot be acknowledged (the engine's AlertConflict)."""

    reason: str
    by: str | None


def conflict_text(conflict: Conflict, lang: str) -> str:
    """Why an alert cannot be acknowledged, in words."""
    return say(f"conflict.{conflict.reason}", lang, name=conflict.by or "")
