import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** The document client every adapter uses, with one set of marshalling rules. */
export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    // Pipeline metadata may hold ids past 2^53; JSON.parse already made them JS numbers, so storing
    // them as they are loses nothing more, where refusing them would lose the whole log.
    marshallOptions: {
      removeUndefinedValues: true,
      convertClassInstanceToMap: false,
      allowImpreciseNumbers: true,
    },
    // Plain numbers back (not BigInt, which JSON cannot write), as JSON.parse would have made them.
    unmarshallOptions: { wrapNumbers: (value: string) => Number(value) },
  });
}
