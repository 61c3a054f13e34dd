import pytest

from minicrm import templating


def test_render_fills_the_allowed_placeholders():
    message = "Hi {{name}}, {{ city }} deals for {{email}} / {{phone}}!"
    customer = {"name": "Asha", "city": "Pune", "email": "a@x.com", "phone": None}
    assert templating.render(message, customer) == "Hi Asha, Pune deals for a@x.com / !"


@pytest.mark.parametrize("message", ["Hello {{surname}}", "{{name}} {{total_spend}}", "{{ }}"])
def test_unknown_placeholders_are_rejected(message):
    with pytest.raises(templating.TemplateError, match="unknown placeholder"):
        templating.parse(message)


def test_sql_expression_binds_every_literal():
    sql, params = templating.sql_expression("Hi {{name}}'; DROP TABLE x; --", first_param=4)
    assert sql == "concat($4::text, coalesce(c.name, ''), $5::text)"
    assert params == ["Hi ", "'; DROP TABLE x; --"]
    assert templating.sql_expression("", 1) == ("''", [])
