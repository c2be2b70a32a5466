"""Teaching: the Learn page's lessons, how a number came about, what-if, projections.
Pure core: the pages render what these compute.
"""
