"""Production profile: settings, rendered configuration, PostgreSQL set-up and supervisord control.

`python -m bts.deploy run` (what `make run-prod` and deploy/start.sh call) prepares the state
folder, renders nginx's and supervisord's configuration from the templates in deploy/, and starts
every process under supervisord; deploy/README.md explains the choices.
"""
