import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiProperty, ApiTags } from '@nestjs/swagger';
import { ArrayMinSize, IsArray, IsIn, IsString, Length, validateSync } from 'class-validator';
import { plainToInstance } from 'class-transformer';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { SCOPES, type Scope } from '@cairn/runtime';
import { RequireScope } from '../../auth/auth.guard';
import { RUNTIME, type CairnRuntime } from '../../runtime';

export class CreateApiKeyRequestDto {
  @ApiProperty() @IsString() @Length(1, 100) name!: string;
  @ApiProperty({ enum: SCOPES, isArray: true }) @IsArray() @ArrayMinSize(1) @IsIn(SCOPES as unknown as string[], { each: true }) scopes!: Scope[];
}

@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin/keys')
export class CreateApiKeyHttpController {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  /** Creates an API key; its secret is in this response only. */
  @Post()
  @HttpCode(201)
  @RequireScope('admin')
  create(@Body() body: unknown): { name: string; scopes: Scope[]; key: string } {
    const dto = plainToInstance(CreateApiKeyRequestDto, body ?? {});
    const errors = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length > 0) {
      const fields = errors.flatMap((e) => Object.values(e.constraints ?? {}).map((message) => ({ field: e.property, message })));
      throw new CairnError(ERROR_CODES.VALIDATION, 'invalid key request', { fields });
    }
    return { name: dto.name, scopes: dto.scopes, key: this.runtime.keys.create(dto.name, dto.scopes) };
  }
}
