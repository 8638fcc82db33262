"""attrap: watch prefectures' RAA for algorithmic video-surveillance and police drone authorisations."""

from attrap.errors import (
    AttrapError,
    ClassifyError,
    ConfigError,
    ExtractError,
    FetchError,
    NotAPdfError,
    PublishError,
)
from attrap.model import Alert, ClassifiedDecree, Decree, Match, Page, RecueilLink

__version__ = "0.1.0"

__all__ = [
    "Alert",
    "AttrapError",
    "ClassifiedDecree",
    "ClassifyError",
    "ConfigError",
    "Decree",
    "ExtractError",
    "FetchError",
    "Match",
    "NotAPdfError",
    "Page",
    "PublishError",
    "RecueilLink",
]
