"""VegaRT Gateway: the domain shared by every function, shipped as a Lambda layer."""
