"""Hazard reports (隐患举报 / 安全吹哨人), in small modules:

- categories: content/report_categories.toml (categories, departments, hazard detection words)
- identity:   encryption of the reporter's openid/name/phone, owner HMAC, erasure of old contacts
- drafts:     the report being written (kept in the DB), its photos
- tickets:    submitting a draft as a report; ticket numbers, query codes, the citizen's own reports
- lifecycle:  status transitions, history, notifications to the reporter through the outbox
- deadlines:  due dates per stage and the overdue list
- duplicates: possible duplicates (same category, near, recent), linked for staff
- evidence:   background download of photos from the WeChat media API
- staff:      what the CLI and the console call: list/filter, detail, assign, reward, reveal, export
"""
