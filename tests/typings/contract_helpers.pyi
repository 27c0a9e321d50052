# The tests import this helper by its bare name (pytest puts its folder on
# sys.path); mypy checks it as tests.properties.contract_helpers and sees it here.
from tests.properties.contract_helpers import *
