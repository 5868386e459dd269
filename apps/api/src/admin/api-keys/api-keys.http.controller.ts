import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, IsISO8601, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { MAX_ROTATION_GRACE_SECONDS, SCOPES, type ApiKeyInfo, type Scope } from '@cairn/runtime';
import { RequireScope } from '../../auth/auth.guard';
import { Audited, resultId } from '../../audit/audit';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { validBody } from '../operations';
import { ApiAnswer, ApiConflict } from '../../openapi/openapi';

export class CreateApiKeyRequestDto {
  @ApiProperty() @IsString() @Length(1, 100) name!: string;
  @ApiProperty({ enum: SCOPES, isArray: true })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(SCOPES.length)
  @IsIn(SCOPES as unknown as string[], { each: true })
  scopes!: Scope[];
  @ApiPropertyOptional({ description: 'ISO 8601 instant with offset, in the future; default: never expires' })
  @IsOptional()
  @IsISO8601({ strict: true })
  expiresAt?: string;
}

export class RotateApiKeyRequestDto {
  @ApiPropertyOptional({ description: `seconds the old secret stays valid (0 = revoked at once, the default; at most ${MAX_ROTATION_GRACE_SECONDS})` })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_ROTATION_GRACE_SECONDS)
  graceSeconds?: number;
  @ApiPropertyOptional({ description: 'expiry of the new key (ISO 8601 with offset, in the future); default: never' })
  @IsOptional()
  @IsISO8601({ strict: true })
  expiresAt?: string;
}

const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A future instant, normalised to UTC ISO, or CAIRN.VALIDATION naming the field. */
function futureInstant(value: string | undefined): string | null {
  if (value === undefined) return null;
  const ms = Date.parse(value);
  if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(value) || Number.isNaN(ms) || ms <= Date.now()) {
    throw new CairnError(ERROR_CODES.VALIDATION, 'invalid expiresAt', { fields: [{ field: 'expiresAt', message: 'must be an ISO 8601 instant with an offset, in the future' }] });
  }
  return new Date(ms).toISOString();
}

function keyId(id: string): string {
  if (!KEY_ID.test(id)) throw new CairnError(ERROR_CODES.VALIDATION, 'invalid key id', { fields: [{ field: 'id', message: 'must be a key id from GET /v1/admin/keys' }] });
  return id;
}

/** API keys: list (never the secret), create, revoke, rotate. Admin scope throughout. */
@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin/keys')
export class ApiKeysHttpController {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  @Get()
  @RequireScope('admin')
  @ApiOperation({ summary: 'Every key with its scopes, state, expiry and last use (at most a minute stale); never a secret' })
  @ApiAnswer(200, 'ApiKeyList')
  async list(): Promise<{ keys: ApiKeyInfo[] }> {
    return { keys: await this.runtime.keys.list() };
  }

  @Post()
  @HttpCode(201)
  @RequireScope('admin')
  @Audited('api-key.created', { resultTargets: resultId('keyId') })
  @ApiOperation({ summary: 'Creates a key; its secret (`key`) is in this answer only' })
  @ApiAnswer(201, 'CreatedApiKey', { description: 'The key, with its secret (`key`) shown only here' })
  @ApiBody({ type: CreateApiKeyRequestDto })
  async create(@Body() body: unknown): Promise<ApiKeyInfo & { key: string }> {
    const dto = validBody(CreateApiKeyRequestDto, body, 'key request');
    const created = await this.runtime.keys.create({ name: dto.name, scopes: dto.scopes, expiresAt: futureInstant(dto.expiresAt) });
    return { ...created.key, key: created.secret };
  }

  @Delete(':id')
  @RequireScope('admin')
  @Audited('api-key.revoked')
  @ApiOperation({ summary: 'Revokes a key at once (every API process on the store refuses it within 1 s); idempotent' })
  @ApiAnswer(200, 'ApiKey')
  revoke(@Param('id') id: string): Promise<ApiKeyInfo> {
    return this.runtime.keys.revoke(keyId(id));
  }

  @Post(':id/rotate')
  @HttpCode(201)
  @RequireScope('admin')
  @Audited('api-key.rotated', { resultTargets: resultId('newKeyId') })
  @ApiOperation({ summary: 'A new secret for the same name and scopes; the old one is revoked at once or stays valid for graceSeconds' })
  @ApiAnswer(201, 'RotatedApiKey', { description: 'The new key with its secret, and the previous one' })
  @ApiBody({ type: RotateApiKeyRequestDto, required: false })
  @ApiConflict(ERROR_CODES.OPERATION_CONFLICT)
  async rotate(@Param('id') id: string, @Body() body: unknown): Promise<ApiKeyInfo & { key: string; previous: ApiKeyInfo }> {
    const dto = validBody(RotateApiKeyRequestDto, body, 'rotation request');
    const rotated = await this.runtime.keys.rotate(keyId(id), { graceSeconds: dto.graceSeconds, expiresAt: futureInstant(dto.expiresAt) });
    return { ...rotated.key, key: rotated.secret, previous: rotated.previous };
  }
}
