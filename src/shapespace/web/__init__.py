"""The web demo (``shapespace serve``): a Gradio page over one trained model.

``handlers`` holds the functions behind the page's tabs (sample, interpolate, reconstruct,
the model card), free of Gradio and tested without a browser; ``app`` lays them out as a
``gr.Blocks`` page and serves it. Gradio is an optional dependency (``pip install
'shapespace[web]'``), imported only by ``app``.
"""
