"""What the simulated patients ask; every conversation cycles through these from its own offset."""

from __future__ import annotations

# The first ten are also those of `python -m bts.dev.latency`, so both measure the same questions.
QUESTIONS = [
    "what is sciatica",
    "what are your hours",
    "how does physical therapy help",
    "do you take medicare",
    "what should i wear",
    "how long does sciatica last",
    "where are you located",
    "what is soft tissue mobilization",
    "do i need a referral",
    "thanks",
    "what causes sciatica",
    "how much does a visit cost",
    "can exercise help my back pain",
    "what happens at the first visit",
    "is there parking",
    "do you speak spanish",
    "hello",
    "how many sessions will i need",
    "should i use ice or heat",
    "what are the symptoms of sciatica",
]

# The long conversation cycles through this many questions: 90 is a multiple of it, so turns
# 91-100 ask the same questions as turns 1-10, in the same order, and the comparison measures the
# length of the conversation, not a different mix of questions.
LONG_CYCLE = 18
