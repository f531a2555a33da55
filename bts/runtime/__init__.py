"""How the project runs Rasa: runtime patches, the server entry points and the input channels.

`python -m bts.runtime.server <rasa run args>` applies the patches in `bts.runtime.patches` and
then runs Rasa's own `rasa run`; `python -m bts.runtime.action_server` serves `actions/` behind a
shared token. Training, `rasa test` and tests run Rasa unpatched.
"""
