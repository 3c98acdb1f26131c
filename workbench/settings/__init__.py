"""Settings: read once from environment variables into one typed, validated object.

One private module per role, re-exported here:
- `_struct`: the `Settings` dataclass, each field naming its environment variable and explaining
  it, with `from_env` (read, parse and check every variable, listing every problem) and `validate`
- `_keys`: the key types of its key lists (`JwtKey`, `DataKey`)
- `_reading`: the variables that must be set, the parser of each field that has its own, and
  `database_url_from_env` (DATABASE_URL alone, for `workbench migrate`)
- `_parsing`: the parsers of one variable's text (booleans, numbers, keys, versions, origins,
  networks, time zones, S3 names, URLs)
- `_urls`: what is wrong with a database, Redis or HTTP URL, said without repeating it
- `_checks`: range and cross-field checks (`MAX_OFFLINE_DAYS` among them) and the push
  credential files read at start
- `_errors`: `SettingsError`, one readable line per bad variable
"""

from workbench.settings._checks import MAX_OFFLINE_DAYS
from workbench.settings._errors import SettingsError
from workbench.settings._keys import DataKey, JwtKey
from workbench.settings._reading import database_url_from_env
from workbench.settings._struct import Settings

__all__ = [
    "MAX_OFFLINE_DAYS",
    "DataKey",
    "JwtKey",
    "Settings",
    "SettingsError",
    "database_url_from_env",
]
