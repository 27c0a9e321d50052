# The tests import this helper by its bare name (pytest puts its folder on
# sys.path); mypy checks it as tests.site.readers and sees it here.
from tests.site.readers import *
