"""Router governance: virtual keys, teams, rate limits, budgets and the cost ledger.

setup.py      builds it from the config (store, the config's keys and teams, the governor)
governor.py   the key check, model permissions, rate limits and budget holds of a request
tally.py      one request's governance from arrival to its ledger record (used by the pipeline)
keys.py       keys and teams with a local cache; budgets.py which budgets apply and their windows
store.py      the store's contract; memory.py in this process; redis_store.py + lua.py in Redis
alerts.py     budget alerts (log, metric, webhook); admin.py the AdminService servicer
ledger*.py    the cost ledger (one record per request, through a Redis stream)
"""
