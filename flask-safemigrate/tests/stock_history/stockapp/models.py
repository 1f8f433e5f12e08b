from . import db


class User(db.Model):
    __tablename__ = "users"
    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(120))
    name = db.Column(db.String(80), index=True)
    role = db.Column(
        db.Enum("admin", "member", name="role"),
        nullable=False,
        server_default="member",
    )


class Team(db.Model):
    __tablename__ = "teams"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(80), nullable=False)
    slug = db.Column(db.String(80), nullable=True, unique=True)
    __table_args__ = (db.UniqueConstraint("name", "slug"),)


class Membership(db.Model):
    __tablename__ = "memberships"
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    team_id = db.Column(db.Integer, db.ForeignKey("teams.id"))
    __table_args__ = (db.UniqueConstraint("user_id", "team_id"),)
