'use strict'
// Driven by broker/clienttest/kafkajs_test.go:
//
//   node js/produce.js BROKER TOPIC COUNT
//
// With kafkajs: creates TOPIC (3 partitions), tries to create it again, lists
// topics and the topic's metadata, produces COUNT keyed messages with headers
// and timestamps with acks=-1, then lists the topic's offsets and the offsets
// at the middle message's timestamp. Prints one JSON object with everything it
// saw on stdout; the Go test checks it and consumes the messages with kgo.
// Any error exits non-zero with the error on stderr.

const { Kafka, logLevel, Partitioners } = require('kafkajs')

async function main () {
  const [broker, topic, countArg] = process.argv.slice(2)
  if (!broker || !topic) {
    throw new Error('usage: node produce.js BROKER TOPIC [COUNT]')
  }
  const count = parseInt(countArg || '300', 10)

  const kafka = new Kafka({
    clientId: 'ordo-clienttest',
    brokers: [broker],
    logLevel: logLevel.WARN,
    connectionTimeout: 5000,
    requestTimeout: 15000,
    retry: { retries: 3 }
  })
  const admin = kafka.admin()
  await admin.connect()
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false
  })
  try {
    const created = await admin.createTopics({
      topics: [{
        topic,
        numPartitions: 3,
        replicationFactor: 1,
        configEntries: [{ name: 'retention.ms', value: '3600000' }]
      }],
      waitForLeaders: true
    })
    const createdAgain = await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1 }]
    })
    const listed = await admin.listTopics()
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] })

    await producer.connect()
    // An hour in the past: inside the broker's default timestamp bounds.
    const base = Date.now() - 3600 * 1000
    const messages = []
    for (let i = 0; i < count; i++) {
      messages.push({
        key: `key-${String(i).padStart(5, '0')}`,
        value: `value-${i}`,
        headers: { seq: String(i), origin: 'kafkajs' },
        timestamp: String(base + i)
      })
    }
    const sent = await producer.send({ topic, acks: -1, messages })

    const offsets = await admin.fetchTopicOffsets(topic)
    const byTimestamp = await admin.fetchTopicOffsetsByTimestamp(topic, base + Math.floor(count / 2))

    process.stdout.write(JSON.stringify({
      created, createdAgain, listed, metadata, sent, offsets, byTimestamp, base
    }) + '\n')
  } finally {
    await producer.disconnect()
    await admin.disconnect()
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
