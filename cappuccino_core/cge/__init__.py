"""The CGE scenario engine: a computable general equilibrium model of the macro economy (calibrated, solved
and proven to be one by the tests of ../shared/design/CGE.md), its macro paths, and the hourly crypto layer
fitted to the bar data that turns each macro path into synthetic market bars (``cappuccino cge ...``)."""
