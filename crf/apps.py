from django.apps import AppConfig


class CrfConfig(AppConfig):
    name = "crf"
    verbose_name = "Case report forms"

    def ready(self):
        from accounts.two_factor import requirement_register

        from . import access, editchecks

        # What the write pipeline derives and checks for crf's own records.
        editchecks.register()
        # Who must sign in with a second factor (TWO_FACTOR_REQUIRED_ROLES): a rule of roles.
        access.second_factor_roles_check()
        requirement_register(access.second_factor_required)
