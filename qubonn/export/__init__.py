"""Export a trained network for inference elsewhere: dependency-free C (:mod:`.c`) and ONNX
(:mod:`.onnx`).  Both read a :class:`~qubonn.modelfile.TrainedModel` and compute exactly what
``model.predict`` computes (``sign(0) = +1``, the arg-max's lowest index among equal maxima)."""
