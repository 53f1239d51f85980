"""Notifications: the outbox ``dispatcher`` (delivery by channel, with retries) and one
module per channel type (``http``: webhook and the WeCom, DingTalk and Feishu robots;
``email``; ``mqtt``); what the messages say is the rules' alert_text."""
