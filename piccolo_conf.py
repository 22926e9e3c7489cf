"""Piccolo's configuration: the engine comes from the registry settings (DESIGN §8)."""

from piccolo.conf.apps import AppRegistry

from registry.db import make_engine
from registry.settings import get_settings

DB = make_engine(get_settings())

APP_REGISTRY = AppRegistry(apps=["registry.piccolo_app"])
