"""The learning loop: staff corrections become a candidate model that is trained, gated, promoted.

`workspace` lays out a candidate (its generated training file, status and log under
`var/learning/<id>/`), `job` trains and gates it in the background, `gates` decides whether it may
go live, `promotion` keeps the pointer to the live model, and `model_server` hands that model to
Rasa's model pulling. Only `job` and `gates.run_*` import Rasa; the rest runs in the console's
environment too.
"""
