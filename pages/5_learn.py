"""Learn page: how a score or a measure was computed, step by step, for one query and passage.

The steps come from ranklens.explain; components.learn_view lays them out.
"""

from components import learn_view, routing

routing.require_app("pages/5_learn.py")

learn_view.render()
