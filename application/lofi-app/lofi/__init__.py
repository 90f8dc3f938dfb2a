"""lofi: a tiny web app serving a pixel-art rainy-night animation it draws itself."""

__all__ = ["__version__"]

__version__ = "0.1.0"
