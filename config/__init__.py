"""The typed configuration: ``load_config(path) -> Config``, ``ConfigError`` (see ``config.load``)."""

from config.load import DEFAULTS, SCHEMA, Config, ConfigError, load_config, parse_config

__all__ = ["DEFAULTS", "SCHEMA", "Config", "ConfigError", "load_config", "parse_config"]
