"""User: an account that signs in, with login tracking."""
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .role import roles_users


class User(db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    confirmed_at: Mapped[datetime | None]

    # login tracking
    current_login_at: Mapped[datetime | None]
    current_login_ip: Mapped[str | None] = mapped_column(String(45))
    last_login_at: Mapped[datetime | None]
    last_login_ip: Mapped[str | None] = mapped_column(String(45))
    login_count: Mapped[int | None]

    roles = relationship("Role", secondary=roles_users, back_populates="users")

    def set_password(self, password):
        self.password = generate_password_hash(password)

    def check_password(self, password):
        return self.password is not None and check_password_hash(self.password, password)

    def __repr__(self):
        return f"<User {self.email}>"
