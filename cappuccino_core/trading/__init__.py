"""Live and paper trading: brokers, risk, conviction, ensembles and the bar loop."""
