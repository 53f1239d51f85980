"""Telling people, shared by both programs (SPEC §5, §12): the channel configs, one sender
per channel type (webhook, WeCom, DingTalk, Feishu, e-mail), their rate limits and the
words they put beside a message. The central service queues and retries through its
outbox (ingest/notify); a gateway uses the same senders for its edge alarms."""
