from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from simple_history import register

        from . import receivers  # noqa: F401 - connects the account-event receivers

        # Account changes (activation, staff flag, names) are audited; the password hash and the
        # last-login stamp are not copied into history (logins are AccountEvents).
        register(
            get_user_model(),
            app=__package__,
            excluded_fields=["password", "last_login"],
            table_name="accounts_historicaluser",
        )
