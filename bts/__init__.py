"""Border Therapy Services assistant: the code that is not Rasa glue.

Booking storage and delivery, channels, runtime patches, shared settings and process helpers live
here, installed into the project's virtual environments (`pip install -e .`); `actions/` and
`components/` are the thin Rasa side over it.
"""
