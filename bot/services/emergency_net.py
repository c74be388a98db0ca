"""The safety net: a reply to a message that may be about danger now starts with whom to call.

The emergency layer answers danger it recognises before anything else; the intent classifier's own
emergency guess has to be sure. Between the two, a message whose P(emergency) reaches the net's bar
(chosen by cross-validation to catch 99% of the emergency examples, so it fires on some calm ones
too) still gets the numbers as its first line, above the answer a guessing router gave it (the intent layer, knowledge
search, the fallback; words a router knows, like a date or 答题, are not a guess). A router that
knew its words gets the line too when the message also says danger is happening (a fall told as a
story of the day: "今天…从二楼架子上掉下来了" reads as a date to the events router). A false alarm
costs a line; a miss can cost a life. Inside a flow the step's own danger check applies instead.
"""

from __future__ import annotations

import re

from bot.content import Content

# A first line that already names an emergency number needs no second one.
NAMES_A_NUMBER = re.compile(r"11[09]|120|122|96333")


def with_safety_line(content: Content, text: str, reply: str, *, guessed: bool) -> str:
    if not text.strip():
        return reply
    alarm = content.emergencies.read(text)
    says_danger = alarm is not None and alarm.said_now
    if not says_danger and not (guessed and content.intents.may_be_danger(text)):
        return reply
    if NAMES_A_NUMBER.search(reply.split("\n", 1)[0]):
        return reply
    return content.emergencies.maybe_line + "\n\n" + reply
