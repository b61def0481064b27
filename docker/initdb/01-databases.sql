-- One database per concern on the shared PostgreSQL server.
CREATE DATABASE prefect;
CREATE DATABASE mlflow;
CREATE DATABASE optuna;
CREATE DATABASE state;
