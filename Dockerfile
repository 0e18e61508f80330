# pgveil as a container: docker build -t pgveil . && docker run -v $PWD/pgveil.yaml:/etc/pgveil/pgveil.yaml pgveil
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
RUN mvn -q -B -DskipTests package

FROM eclipse-temurin:17-jre
WORKDIR /opt/pgveil
COPY --from=build /src/proxy-core/target/pgveil.jar proxy-core/target/pgveil.jar
COPY --from=build /src/proxy-core/target/lib proxy-core/target/lib
COPY bin/pgveil bin/pgveil
EXPOSE 6432
USER 65532
ENTRYPOINT ["/opt/pgveil/bin/pgveil"]
CMD ["run", "--config", "/etc/pgveil/pgveil.yaml"]
