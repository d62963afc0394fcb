"""The service floor: live runs and what they show, between the landscape and the web.

NumPy and the standard library only (plotly in ``report.py``). ``LiveRun`` owns every
command a client can give a session (step, set, reset, rewind, import, the play tick)
and enforces every limit once; the presenters turn a ``LiveRun`` into JSON-safe dicts.
REST, the WebSocket, import and the CLI all call these, so one request gets one answer.
"""
