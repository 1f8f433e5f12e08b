from setuptools import find_packages, setup

setup(
    name="__app__",
    version="0.1.0",
    description="__app__: a Flask app made with Flask-SafeMigrate",
    packages=find_packages(include=["__app__", "__app__.*"]),
    include_package_data=True,
    package_data={"__app__": ["migrations/*.ini", "migrations/*.mako", "migrations/*.py",
                              "migrations/versions/*.py"]},
    python_requires=">=3.10",
    install_requires=["__toolkit_requirement__"],
    extras_require={"postgresql": ["Flask-SafeMigrate[postgresql]"],
                    "mysql": ["Flask-SafeMigrate[mysql]"], "test": ["Flask-SafeMigrate[test]"]},
)
