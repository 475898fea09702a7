"""matplotlib for the charts of tables and cross-corpus scores: drawing to files, no display needed."""


def pyplot():
    """pyplot on the Agg backend, imported only when a chart is drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
