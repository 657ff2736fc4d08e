from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length


class SignInForm(FlaskForm):
    email = EmailField("Электронная почта", validators=[DataRequired("Введите адрес почты."), Length(max=254)])
    password = PasswordField("Пароль", validators=[DataRequired("Введите пароль."), Length(max=1024)])


class SignOutForm(FlaskForm):
    """Only the CSRF token: signing out changes state, so it is a POST with a token."""
