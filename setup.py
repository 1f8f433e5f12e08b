from setuptools import find_packages, setup

setup(
    name="myapp",
    version="0.1.0",
    description="A Flask application scaffold whose heart is safe database schema migration",
    packages=find_packages(include=["myapp", "myapp.*"]),
    include_package_data=True,
    package_data={"myapp": ["migrations/*.ini", "migrations/*.mako", "migrations/*.py",
                            "migrations/versions/*.py"]},
    python_requires=">=3.10",
    install_requires=[
        "Flask>=3.0,<4",
        "Flask-SQLAlchemy>=3.1,<4",
        "Flask-Migrate>=4.0,<5",
        "alembic>=1.17.2,<2",  # implementation_for(replace=True)
        "SQLAlchemy>=2.1,<3",  # Enum(create_type=False) on every dialect
    ],
    extras_require={
        "postgresql": ["psycopg[binary]>=3.1,<4"],
        "mysql": ["PyMySQL>=1.1,<2"],
        "test": ["pytest>=8", "hypothesis>=6.100", "selenium>=4.20,<5"],
    },
)
