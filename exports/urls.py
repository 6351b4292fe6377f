from . import urls_closeout, urls_data, urls_reports

app_name = "exports"
urlpatterns = [*urls_data.urlpatterns, *urls_reports.urlpatterns, *urls_closeout.urlpatterns]
