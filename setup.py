from setuptools import find_packages, setup

setup(
    name="myapp",
    version="0.1.0",
    description="The reference app of Flask-SafeMigrate (flask-safemigrate/): the example domain",
    packages=find_packages(include=["myapp", "myapp.*"]),
    include_package_data=True,
    package_data={"myapp": ["migrations/*.ini", "migrations/*.mako", "migrations/*.py",
                            "migrations/versions/*.py"]},
    python_requires=">=3.10",
    install_requires=[
        "Flask-SafeMigrate>=0.1,<0.2",  # the toolkit: Flask, Flask-Migrate, Alembic, SQLAlchemy
        "Flask>=3.0,<4",
        "Flask-SQLAlchemy>=3.1,<4",
    ],
    extras_require={
        "postgresql": ["Flask-SafeMigrate[postgresql]"],
        "mysql": ["Flask-SafeMigrate[mysql]"],
        "test": ["Flask-SafeMigrate[test]", "selenium>=4.20,<5"],
    },
)
