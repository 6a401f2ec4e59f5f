"""Everything that talks to Kafka, shared by the table service and the connector: the client
(`client`), positioned readers (`readers`), the awaited producer (`producer`), the publisher's
acknowledged tail (`delivered`), compacted-topic views (`topic_view`) and the schema registry.
The only package that imports confluent-kafka."""
