"""What an image costs: a cache hit, a Segmind render, and a render on each offered GPU type.

``docs/cost.md`` is this module's output, between two markers, so that the costs are computed
and never typed: rerunning ``benchmarks/cost_model.py --write`` after a benchmark or a price
changes is all it takes, and a test fails while the document differs from what the committed
inputs give. The inputs are of three kinds, kept apart so that each can be replaced alone:

- list prices, with their date and source: ``benchmarks/cost_inputs/prices.json``;
- figures a benchmark measured: ``benchmarks/results/*.json``, written by the benchmarks'
  ``--json`` option (the render function's own time and log bytes; a GPU's render time);
- everything else, each with what it rests on: ``benchmarks/cost_inputs/estimates.json``.

``template.yaml`` says the rest: the functions' memory and architecture, how long the cache
keeps a render, the GPU types a stack may choose and how the model server is configured.

The arithmetic is in small functions of plain numbers, in US dollars per image unless named
otherwise, so that a test can check each one against a hand computation.
"""
