import django_stubs_ext

# Lets Django's generic classes be subscripted at run time (`admin.ModelAdmin[Project]`,
# `forms.ModelForm[Project]`), as their django-stubs types are; done before any app is imported.
django_stubs_ext.monkeypatch()

from config.celery import app as celery_app  # noqa: E402

__all__ = ("celery_app",)
