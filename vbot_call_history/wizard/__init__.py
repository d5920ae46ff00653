from . import vbot_number_assign
